// A client for the client namespace, driven by JSON lines on stdin, answering JSON lines on
// stdout: {op:"connect",id,host,port,localAddress,timeoutMs} → connected | error | timeout;
// {op:"echo",id,data,timeoutMs} → echo | error | closed | timeout; {op:"end",id} → ended.
import net from "node:net"
import readline from "node:readline"

const sockets = new Map()
const reply = (message) => process.stdout.write(`${JSON.stringify(message)}\n`)

const connect = ({ id, host, port, localAddress, timeoutMs }) => {
  const socket = net.connect({ host, port, localAddress })
  let settled = false
  const settle = (message) => {
    if (settled) return
    settled = true
    clearTimeout(timer)
    reply({ id, ...message })
  }
  const timer = setTimeout(() => {
    settle({ event: "timeout" })
    socket.destroy()
  }, timeoutMs)
  socket.once("connect", () => {
    sockets.set(id, { socket, pending: undefined, closed: false, error: undefined })
    settle({ event: "connected" })
  })
  socket.on("error", (error) => {
    const entry = sockets.get(id)
    if (entry) entry.error = error.code
    settle({ event: "error", code: error.code })
    entry?.pending?.({ event: "error", code: error.code })
  })
  socket.on("close", () => {
    const entry = sockets.get(id)
    if (entry) entry.closed = true
    entry?.pending?.({ event: entry.error ? "error" : "closed", code: entry.error })
  })
  socket.on("data", (chunk) => {
    const entry = sockets.get(id)
    entry?.pending?.({ event: "echo", data: chunk.toString("utf8") })
  })
}

const echo = ({ id, data, timeoutMs }) => {
  const entry = sockets.get(id)
  if (!entry) return reply({ id, event: "error", code: "NOSOCKET" })
  if (entry.closed) return reply({ id, event: entry.error ? "error" : "closed", code: entry.error })
  const timer = setTimeout(() => finish({ event: "timeout" }), timeoutMs)
  const finish = (message) => {
    clearTimeout(timer)
    entry.pending = undefined
    reply({ id, ...message })
  }
  entry.pending = finish
  entry.socket.write(data)
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const command = JSON.parse(line)
  if (command.op === "connect") connect(command)
  else if (command.op === "echo") echo(command)
  else if (command.op === "end") {
    sockets.get(command.id)?.socket.destroy()
    sockets.delete(command.id)
    reply({ id: command.id, event: "ended" })
  }
})
process.stdin.on("end", () => process.exit(0))
