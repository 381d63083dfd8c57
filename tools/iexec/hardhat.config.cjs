// Local dev chain for the iExec tests: hardhat's default accounts, chainId 31337 (the `local` entry of chain.json).
module.exports = { networks: { hardhat: { chainId: 31337 } } };
