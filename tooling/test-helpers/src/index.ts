export { brokersOf, gate, pythonHas, tcpReachable } from './services.ts';
export { freePort } from './free-port.ts';
export { startPython, type PythonPeer } from './python-peer.ts';
export { portChannel, type PortChannel } from './port-channel.ts';
export { listenSeverable, tcpRelay, type SeverableServer } from './severable-server.ts';
export { settle, sleep, waitUntil } from './waiting.ts';
export { startReadyProcess, type ReadyProcess } from './ready-process.ts';
export { exchange } from './exchange.ts';
