// Stand-in for the workerpool's scheduler and a worker on the local test chain, talking to PoCo 6.1.0 directly.
// The tests run the app itself (in Python, the way the worker runs the container); this script does only the
// on-chain part a real workerpool does around it:
//   wait-deal <hub> <fromBlock> [timeoutSec]   wait for the next OrdersMatched on the hub; prints {dealid, block}
//   initialize <hub> <dealid> [idx]            scheduler: task UNSET -> ACTIVE (initialize is public in PoCo 6.1.0)
//   finalize <hub> <taskid> <resultDigest> <resultsJson>
//                                              worker: contributeAndFinalize (trust 1), so the task becomes
//                                              COMPLETED with `results` = the storage pointer the SDK downloads
// The signatures are the ones PoCo checks: the scheduler (workerpool owner) authorizes worker+task+enclave, and
// the enclave key signs (resultHash, resultSeal), as a TDX/TEE worker's enclave would.
// Keys: hardhat's PUBLIC dev accounts (#0 workerpool owner, #2 worker). Prints one JSON line; exit 1 on failure.
// env: RPC_URL (default http://127.0.0.1:8545)
import { JsonRpcProvider, Wallet, Contract, getBytes, solidityPackedKeccak256, toUtf8Bytes, hexlify } from 'ethers';

const SCHEDULER_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'; // dev #0
const WORKER_KEY = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a'; // dev #2
const ABI = [
  'event OrdersMatched(bytes32 dealid, bytes32 appHash, bytes32 datasetHash, bytes32 workerpoolHash, bytes32 requestHash, uint256 volume)',
  'function initialize(bytes32 _dealid, uint256 idx) returns (bytes32)',
  'function contributeAndFinalize(bytes32 _taskid, bytes32 _resultDigest, bytes _results, bytes _resultsCallback, address _enclaveChallenge, bytes _enclaveSign, bytes _authorizationSign)',
];
const provider = new JsonRpcProvider(process.env.RPC_URL || 'http://127.0.0.1:8545', undefined, { pollingInterval: 250 });
const [cmd, hub, ...args] = process.argv.slice(2);
if (!cmd || !hub) {
  console.error('usage: node local-worker.mjs wait-deal|initialize|finalize <hub> ...');
  process.exit(2);
}
const out = (o) => console.log(JSON.stringify({ ok: true, ...o }));

async function waitDeal(fromBlock, timeoutSec = '120') {
  const hubC = new Contract(hub, ABI, provider);
  const until = Date.now() + Number(timeoutSec) * 1000;
  while (Date.now() < until) {
    const logs = await hubC.queryFilter('OrdersMatched', Number(fromBlock));
    if (logs.length) return out({ dealid: logs[0].args.dealid, block: logs[0].blockNumber });
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no OrdersMatched since block ${fromBlock} within ${timeoutSec}s`);
}

async function initialize(dealid, idx = '0') {
  const hubC = new Contract(hub, ABI, new Wallet(SCHEDULER_KEY, provider));
  const taskid = await hubC.initialize.staticCall(dealid, idx);
  const receipt = await (await hubC.initialize(dealid, idx)).wait();
  if (receipt.status !== 1) throw new Error(`initialize reverted: ${receipt.hash}`);
  out({ taskid, txHash: receipt.hash });
}

async function finalize(taskid, resultDigest, resultsJson) {
  const scheduler = new Wallet(SCHEDULER_KEY, provider);
  const worker = new Wallet(WORKER_KEY, provider);
  const enclave = Wallet.createRandom(); // the enclave's one-time challenge key
  const authorization = await scheduler.signMessage(getBytes(
    solidityPackedKeccak256(['address', 'bytes32', 'address'], [worker.address, taskid, enclave.address])));
  const resultHash = solidityPackedKeccak256(['bytes32', 'bytes32'], [taskid, resultDigest]);
  const resultSeal = solidityPackedKeccak256(['address', 'bytes32', 'bytes32'], [worker.address, taskid, resultDigest]);
  const enclaveSign = await enclave.signMessage(getBytes(
    solidityPackedKeccak256(['bytes32', 'bytes32'], [resultHash, resultSeal])));
  const hubC = new Contract(hub, ABI, worker);
  const results = hexlify(toUtf8Bytes(resultsJson));
  const receipt = await (await hubC.contributeAndFinalize(
    taskid, resultDigest, results, '0x', enclave.address, enclaveSign, authorization)).wait();
  if (receipt.status !== 1) throw new Error(`contributeAndFinalize reverted: ${receipt.hash}`);
  out({ taskid, resultDigest, txHash: receipt.hash });
}

try {
  if (cmd === 'wait-deal') await waitDeal(...args);
  else if (cmd === 'initialize') await initialize(...args);
  else if (cmd === 'finalize') await finalize(...args);
  else throw new Error(`unknown command ${cmd}`);
} catch (e) {
  console.error(JSON.stringify({ ok: false, error: e.shortMessage || e.message }));
  process.exit(1);
} finally {
  provider.destroy();
}
