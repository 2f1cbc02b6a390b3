// A TCP echo service for the device namespace: `node echo-server.mjs <host> <port>`.
// Prints "listening" once bound; runs until killed.
import net from "node:net"

const [host, port] = process.argv.slice(2)
const server = net.createServer((socket) => {
  socket.on("error", () => {})
  socket.pipe(socket)
})
server.listen(Number(port), host, () => process.stdout.write("listening\n"))
