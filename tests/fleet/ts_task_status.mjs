// A 2025-11-25 task client (the official TypeScript SDK) that only listens for its task's status.
// Usage: node ts_task_status.mjs <mcp url> <agent token>
// Prints {"step": "created", task} once the held call is a task, then waits for a line on stdin
// (the test decided the call elsewhere) and prints {"step": "notified", statuses} within 10 s.
import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateTaskResultSchema, TaskStatusNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const [url, token] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (step, data) => console.log(JSON.stringify({ step, ...data }));

const client = new Client({ name: "countersign-ts-task-status", version: "1.0.0" });
await client.connect(
  new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }),
);
const statuses = [];
client.setNotificationHandler(TaskStatusNotificationSchema, (n) => statuses.push(n.params.status));
const arguments_ = { customer_id: "C-1001", order_id: "O-1001", amount: 100, currency: "EUR", reason: "parcel arrived damaged" };
const created = await client.request(
  { method: "tools/call", params: { name: "issue_refund", arguments: arguments_, task: { ttl: 60000 } } },
  CreateTaskResultSchema,
);
say("created", { task: created.task });
await lines.next(); // decided on the other instance
for (let i = 0; i < 100 && !statuses.some((s) => s !== "working"); i++) {
  await new Promise((resolve) => setTimeout(resolve, 100));
}
say("notified", { statuses });
await client.close();
process.exit(0);
