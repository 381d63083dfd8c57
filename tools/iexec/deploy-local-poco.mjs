// Deploy iExec PoCo 6.1.0 (token mode) from the @iexec/poco npm artifacts onto the loopback hardhat node.
// Adapted from the team's local-chain recipe. env: POCO_PKG (unpacked package, default .poco/package as written by
// fetch-poco.sh), RPC_URL (default http://127.0.0.1:8545), POCO_OUT (JSON with hub and registry addresses).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JsonRpcProvider, Wallet, ContractFactory, Contract, Interface, ZeroAddress } from 'ethers';

const P = (process.env.POCO_PKG || fileURLToPath(new URL('.poco/package', import.meta.url))).replace(/\/?$/, '/');
const art = (p) => JSON.parse(readFileSync(P + p, 'utf8'));
const dep = (n) => art(`deployments/arbitrumSepolia/${n}.json`);
const fac = (n, dir = 'facets') => art(`artifacts/contracts/${dir}/${n}.sol/${n}.json`);
const provider = new JsonRpcProvider(process.env.RPC_URL || 'http://127.0.0.1:8545');
// hardhat default account #0 (publicly known dev key)
const deployer = new Wallet('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80', provider);
let nonce = await provider.getTransactionCount(deployer.address);
const deploy = async (abi, bytecode, args = []) => {
  const c = await new ContractFactory(abi, bytecode, deployer).deploy(...args, { nonce: nonce++ });
  await c.waitForDeployment(); return c;
};
const send = async (p) => (await p).wait();
const link = (a, lib) => {
  let b = a.bytecode.slice(2);
  for (const [, libs] of Object.entries(a.linkReferences || {}))
    for (const [, refs] of Object.entries(libs))
      for (const { start, length } of refs) b = b.slice(0, start * 2) + lib.slice(2).toLowerCase() + b.slice((start + length) * 2);
  return '0x' + b;
};
const selectors = (abi) => new Interface(abi).fragments.filter((f) => f.type === 'function').map((f) => f.selector);
const ERC20_ABI = ['function balanceOf(address) view returns (uint256)', 'function transfer(address,uint256) returns (bool)'];

const rlcDep = dep('RLC');
const rlc = await deploy(ERC20_ABI, rlcDep.bytecode);
const init = await deploy(dep('DiamondInit').abi, dep('DiamondInit').bytecode);
const cuts = [];
for (const n of ['DiamondCutFacet', 'DiamondLoupeFacet', 'OwnershipFacet']) {
  const d = dep(n); const c = await deploy(d.abi, d.bytecode);
  cuts.push({ facetAddress: await c.getAddress(), action: 0, functionSelectors: selectors(d.abi) });
}
const diamondD = art('artifacts/contracts/Diamond.sol/Diamond.json');
const initCalldata = new Interface(dep('DiamondInit').abi).encodeFunctionData('init');
const diamond = await deploy(diamondD.abi, diamondD.bytecode, [cuts, { owner: deployer.address, init: await init.getAddress(), initCalldata }]);
const hub = await diamond.getAddress();
const libA = fac('IexecLibOrders_v5', 'libs');
const lib = await deploy(libA.abi, libA.bytecode);
const libAddr = await lib.getAddress();
const cutter = new Contract(hub, dep('DiamondCutFacet').abi, deployer);
const loupe = new Contract(hub, dep('DiamondLoupeFacet').abi, provider);
const fullAbi = [];
for (const n of ['IexecAccessorsABILegacyFacet', 'IexecCategoryManagerFacet', 'IexecConfigurationExtraFacet', 'IexecConfigurationFacet',
  'IexecEscrowTokenFacet', 'IexecOrderManagementFacet', 'IexecPoco1Facet', 'IexecPoco2Facet', 'IexecPocoAccessorsFacet',
  'IexecPocoBoostFacet', 'IexecPocoBoostAccessorsFacet', 'IexecRelayFacet']) {
  const a = fac(n); const c = await deploy(a.abi, link(a, libAddr));
  const existing = (await loupe.facets()).flatMap((f) => [...f.functionSelectors]);
  const sels = selectors(a.abi).filter((s) => !existing.includes(s));
  await send(cutter.diamondCut([{ facetAddress: await c.getAddress(), action: 0, functionSelectors: sels }], ZeroAddress, '0x', { nonce: nonce++ }));
  fullAbi.push(...a.abi.filter((x) => x.type === 'function'));
}
const regs = {};
for (const [n, dir] of [['AppRegistry', 'registries/apps'], ['DatasetRegistry', 'registries/datasets'], ['WorkerpoolRegistry', 'registries/workerpools']]) {
  const a = fac(n, dir); const r = await deploy(a.abi, a.bytecode);
  await send(r.initialize(ZeroAddress, { nonce: nonce++ }));
  regs[n] = await r.getAddress();
}
const iexec = new Contract(hub, fullAbi, deployer);
await send(iexec.configure(await rlc.getAddress(), 'Staked RLC', 'SRLC', 9, regs.AppRegistry, regs.DatasetRegistry, regs.WorkerpoolRegistry, ZeroAddress, { nonce: nonce++ }));
for (const [name, t] of [['XS', 300], ['S', 1200], ['M', 3600], ['L', 10800], ['XL', 36000]])
  await send(iexec.createCategory(name, '""', t, { nonce: nonce++ }));
const out = { hub, rlc: await rlc.getAddress(), ...regs, countCategory: `${await iexec.countCategory()}`, domain: await iexec.eip712domain_separator() };
console.log(JSON.stringify(out, null, 2));
writeFileSync(process.env.POCO_OUT || 'local-poco.json', JSON.stringify(out, null, 2));
