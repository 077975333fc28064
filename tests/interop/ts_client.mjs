// The official TypeScript MCP SDK as a client through a tap: calls server-everything's
// `trigger-elicitation-request` and `trigger-sampling-request`, answering the server's
// questions after a second (accepting the elicitation, replying to the sampling).
//
//   cd NODE_DIR && node ts_client.mjs stdio MCPTOP LABEL NODE EVERYTHING_JS
//   cd NODE_DIR && node ts_client.mjs http URL
//
// Run from the directory whose node_modules holds @modelcontextprotocol/sdk. Prints one
// JSON line per call (its result's text); exits non-zero with one line on any failure.
import { createRequire } from "node:module";

const require = createRequire(process.cwd() + "/");
const { Client } = require("@modelcontextprotocol/sdk/client/index.js");
const { StdioClientTransport } = require("@modelcontextprotocol/sdk/client/stdio.js");
const { StreamableHTTPClientTransport } = require(
  "@modelcontextprotocol/sdk/client/streamableHttp.js",
);
const { ElicitRequestSchema, CreateMessageRequestSchema } = require(
  "@modelcontextprotocol/sdk/types.js",
);

const [mode, ...rest] = process.argv.slice(2);
const slowly = (value) => new Promise((resolve) => setTimeout(() => resolve(value), 1000));

async function main() {
  let transport;
  if (mode === "stdio") {
    const [mcptop, label, node, everything] = rest;
    transport = new StdioClientTransport({
      command: mcptop,
      args: ["wrap", "--label", label, "--", node, everything, "stdio"],
      env: process.env,
    });
  } else if (mode === "http") {
    transport = new StreamableHTTPClientTransport(new URL(rest[0]));
  } else {
    throw new Error(`unknown mode ${mode}: stdio or http`);
  }
  const client = new Client(
    { name: "ts-sdk-interop", version: "1.0.0" },
    { capabilities: { elicitation: {}, sampling: {} } },
  );
  client.setRequestHandler(ElicitRequestSchema, () =>
    slowly({ action: "accept", content: { color: "blue", number: 7, pets: "dogs" } }),
  );
  client.setRequestHandler(CreateMessageRequestSchema, () =>
    slowly({
      role: "assistant",
      model: "scripted",
      stopReason: "endTurn",
      content: { type: "text", text: "a reply" },
    }),
  );
  await client.connect(transport);
  for (const [name, args] of [
    ["trigger-elicitation-request", {}],
    ["trigger-sampling-request", { prompt: "hi", maxTokens: 10 }],
  ]) {
    const result = await client.callTool({ name, arguments: args });
    if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result)}`);
    console.log(JSON.stringify({ tool: name, text: result.content?.[0]?.text ?? "" }));
  }
  await client.close();
}

main().catch((e) => {
  console.error(`ts client FAILED: ${e?.message ?? e}`);
  process.exit(1);
});
