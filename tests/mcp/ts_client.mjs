// An independent MCP client: the official TypeScript SDK lists the tools and makes a held call.
// Usage: node ts_client.mjs <mcp url> <agent token>; prints one JSON line for the Python test to read.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, token] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "countersign-ts-probe", version: "1.0.0" });
await client.connect(transport);

const { tools } = await client.listTools();
const refund = tools.find((tool) => tool.name === "issue_refund");
const progress = [];
const result = await client.callTool(
  {
    name: "issue_refund",
    arguments: {
      customer_id: "C-1001",
      order_id: "O-1001",
      amount: 400,
      currency: "EUR",
      reason: "parcel arrived damaged",
      justification: { reason: "photos in the ticket", evidence: [{ source: "ticket:T-1042" }], confidence: 0.7 },
    },
  },
  undefined,
  { onprogress: (p) => progress.push(p.progress), timeout: 20000, resetTimeoutOnProgress: true },
);
console.log(
  JSON.stringify({
    protocol: transport.protocolVersion ?? null,
    tools: tools.map((tool) => tool.name),
    justification_in_schema: Boolean(refund?.inputSchema?.properties?.justification),
    is_error: result.isError ?? false,
    structured: result.structuredContent,
    text: result.content?.[0]?.text ?? "",
    progress: progress.length,
  }),
);
await client.close();
