// Joins stdin/stdout to a TCP connection (a ProxyCommand for SSH into a namespace):
// `node tcp-proxy.mjs <host> <port>`.
import net from "node:net"

const [host, port] = process.argv.slice(2)
const socket = net.connect(Number(port), host)
process.stdin.pipe(socket)
socket.pipe(process.stdout)
socket.on("close", () => process.exit(0))
socket.on("error", () => process.exit(1))
