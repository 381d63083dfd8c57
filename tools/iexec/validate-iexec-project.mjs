// Offline check of an iExec project folder (iexec.json, chain.json, deployed.json when present) with the
// iExec SDK's own yup schemas and chain.json loader, i.e. exactly what the CLI applies before it acts.
// Usage: node validate-iexec-project.mjs <projectDir>     exit 0 = all accepted, 1 = something rejected.
// The validator and the CLI fs helpers are not in the package's "exports" map, so they are imported by file
// path from the iexec package installed beside this script (internal API: hence the exact pin on iexec 9.0.1).
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = path.resolve(process.argv[2] || '.');
const require = createRequire(import.meta.url);
const esmRoot = path.resolve(path.dirname(require.resolve('iexec')), '..');
const imp = (p) => import(pathToFileURL(path.join(esmRoot, p)).href);
const v = await imp('common/utils/validator.js');
const fsu = await imp('cli/utils/fs.js');

let failed = 0;
async function check(label, fn) {
  try {
    await fn();
    console.log(`OK   ${label}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${label}: ${(e.errors || [e.message]).join(' | ')}`);
  }
}
const opts = { abortEarly: false, strict: false };
let conf;
await check('iexec.json parses', () => { conf = JSON.parse(readFileSync(path.join(dir, 'iexec.json'), 'utf8')); });
if (conf) {
  await check('iexec.json app', () => v.appSchema().validate(conf.app, opts));
  const o = conf.order || {};
  if (o.apporder) await check('iexec.json order.apporder', () => v.apporderSchema().validate(o.apporder, opts));
  if (o.requestorder) {
    await check('iexec.json order.requestorder', () => v.requestorderSchema().validate(o.requestorder, opts));
    const p = o.requestorder.params;
    if (p && typeof p === 'object') {
      // SDK 9.0.1 turns every order into a TDX (TEE) order, so the params must pass both rule sets.
      // The schema casts unknown keys away instead of failing; a key it would drop silently (such as
      // SDK 8's iexec_developer_logger) never reaches the worker, so it is reported as an error here.
      for (const isTee of [false, true]) {
        await check(`iexec.json order.requestorder.params (${isTee ? 'TEE' : 'standard'} task)`, async () => {
          const cast = await v.objParamsSchema().validate(p, { ...opts, context: { isTee, isCallback: false } });
          const dropped = Object.keys(p).filter((k) => !(k in cast));
          if (dropped.length) throw new Error(`keys the SDK would drop: ${dropped.join(', ')}`);
        });
      }
    }
  }
}
// Not SDK rules, but deploying the committed placeholders would register an app nobody owns or whose
// image the worker cannot verify: warn (exit code unchanged) until `make iexec-app` has filled them.
if (conf?.app?.owner?.toLowerCase() === '0x000000000000000000000000000000000000dead')
  console.log('WARN app.owner: still the placeholder; run make iexec-app IMAGE=... OWNER=<your wallet>');
if (/^0x0{64}$/.test(conf?.app?.checksum || ''))
  console.log('WARN app.checksum: all zeros; run make iexec-app after pushing the image');
await check('chain.json (SDK loadChainConf, strict)', () => fsu.loadChainConf({ fileDir: dir }));
if (existsSync(path.join(dir, 'deployed.json'))) {
  await check('deployed.json (SDK loadDeployedConf)', () => fsu.loadDeployedConf({ fileDir: dir }));
}
process.exit(failed ? 1 : 0);
