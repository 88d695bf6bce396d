/**
 * The child side of the process protocol: a service process tells its parent it is listening (IPC message
 * `{type:'ready', port}`), and shuts down gracefully on SIGTERM/SIGINT.
 */
export function announceReady(port: number): void {
  process.send?.({ type: 'ready', port });
}

export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  // The parent went away (crashed or was killed): do not linger as an orphan holding ports.
  process.on('disconnect', handler);
}
