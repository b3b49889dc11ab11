// Recompile TestToken.sol into TestToken.json and StrictApprovalToken.json (ABI + bytecode).
// The artifact is committed, so this only runs when the source changes:
//   npm install --no-save solc@0.8.37 && node tradeexecutor/devchain/contracts/compile.js
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const source = fs.readFileSync(path.join(__dirname, "TestToken.sol"), "utf8");
const input = {
  language: "Solidity",
  sources: { "TestToken.sol": { content: source } },
  settings: {
    // paris: no PUSH0/MCOPY, so the token also deploys on forks of chains that lag behind mainnet
    evmVersion: "paris",
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  console.error(errors.map((e) => e.formattedMessage).join("\n"));
  process.exit(1);
}
for (const name of ["TestToken", "StrictApprovalToken"]) {
  const contract = output.contracts["TestToken.sol"][name];
  const artifact = {
    contractName: name,
    compiler: `solc ${solc.version()}`,
    evmVersion: input.settings.evmVersion,
    abi: contract.abi,
    bytecode: "0x" + contract.evm.bytecode.object,
  };
  fs.writeFileSync(path.join(__dirname, `${name}.json`), JSON.stringify(artifact, null, 1) + "\n");
  console.log(`Wrote ${name}.json (${artifact.bytecode.length / 2 - 1} bytes of bytecode)`);
}
