// The official TypeScript SDK's task client (client.experimental.tasks, MCP 2025-11-25) against Countersign.
// Usage: node ts_tasks.mjs <mcp url> <token of agent A> <token of agent B>
// Prints one JSON line per step; waits for a line on stdin where the Python test must act (approve).
import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema, CreateTaskResultSchema, TaskStatusNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const [url, tokenA, tokenB] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (step, data) => console.log(JSON.stringify({ step, ...data }));
const next = async () => (await lines.next()).value;

async function connect(token) {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: "countersign-ts-tasks", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

const refund = (amount) => ({
  name: "issue_refund",
  arguments: { customer_id: "C-1001", order_id: "O-1001", amount, currency: "EUR", reason: "parcel arrived damaged" },
});
const errorOf = async (promise) => {
  try {
    await promise;
    return null;
  } catch (error) {
    return { code: error.code ?? null, message: String(error.message ?? error) };
  }
};

const a = await connect(tokenA);
const notified = [];
a.setNotificationHandler(TaskStatusNotificationSchema, (n) => notified.push({ taskId: n.params.taskId, status: n.params.status }));
const b = await connect(tokenB);
const { tools } = await a.listTools();
say("listed", {
  capabilities: a.getServerCapabilities(),
  refund_execution: tools.find((t) => t.name === "issue_refund")?.execution ?? null,
  read_execution: tools.find((t) => t.name === "get_customer")?.execution ?? null,
});

// 1. A held call becomes a task (the SDK opts in by itself for a tool listed with taskSupport);
//    a person approves it through the JSON API; the stream ends with the real result.
const events = [];
for await (const message of a.experimental.tasks.callToolStream(refund(400), undefined, { timeout: 20000 })) {
  if (message.type === "taskCreated") {
    events.push({ type: "taskCreated", task: message.task });
    say("created", { task: message.task });
    await next(); // the test approved it
  } else if (message.type === "taskStatus") {
    events.push({ type: "taskStatus", status: message.task.status });
  } else if (message.type === "result") {
    events.push({ type: "result", result: message.result });
  } else {
    events.push({ type: message.type, error: String(message.error?.message ?? message.error) });
  }
}
// The status notification travels on the session's standalone stream: give it up to 5 s to arrive.
for (let i = 0; i < 50 && !notified.some((n) => n.status === "completed"); i++) {
  await new Promise((resolve) => setTimeout(resolve, 100));
}
say("approved", { events, notified: [...notified] });

// 2. Withdrawn while held: tasks/cancel, then tasks/get shows it cancelled.
const held = await a.request({ method: "tools/call", params: { ...refund(401), task: { ttl: 60000 } } }, CreateTaskResultSchema);
const cancelled = await a.experimental.tasks.cancelTask(held.task.taskId);
const afterCancel = await a.experimental.tasks.getTask(held.task.taskId);
say("cancelled", { created: held.task, cancelled, after: afterCancel });

// 3. Approved, then withdrawn: refused.
const approvedHeld = await a.request(
  { method: "tools/call", params: { ...refund(402), task: { ttl: 60000 } } },
  CreateTaskResultSchema,
);
say("created-for-approval", { task: approvedHeld.task });
await next(); // the test approved it
const refused = await errorOf(a.experimental.tasks.cancelTask(approvedHeld.task.taskId));
const finalResult = await a.experimental.tasks.getTaskResult(approvedHeld.task.taskId, CallToolResultSchema);
say("cancel-after-approval", { refused, result: finalResult });

// 4. Agent B sees none of A's tasks.
const listedA = await a.experimental.tasks.listTasks();
const listedB = await b.experimental.tasks.listTasks();
const getByB = await errorOf(b.experimental.tasks.getTask(held.task.taskId));
const resultByB = await errorOf(b.experimental.tasks.getTaskResult(held.task.taskId, CallToolResultSchema));
const cancelByB = await errorOf(b.experimental.tasks.cancelTask(approvedHeld.task.taskId));
say("isolation", {
  a_ids: listedA.tasks.map((t) => t.taskId),
  b_ids: listedB.tasks.map((t) => t.taskId),
  get_by_b: getByB,
  result_by_b: resultByB,
  cancel_by_b: cancelByB,
});

// 5. Without opting in, nothing changes: the plain call answers pending_approval.
const plain = await a.callTool(refund(403), undefined, { timeout: 20000 });
say("plain", { structured: plain.structuredContent, is_error: plain.isError ?? false });

await a.close();
await b.close();
process.exit(0);
