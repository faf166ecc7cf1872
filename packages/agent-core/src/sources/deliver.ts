/**
 * Hand an event to a source's consumer. An exception from the consumer is its own bug: it
 * is rethrown outside the source (as an uncaught exception the agent's process handler
 * reports), so it is neither swallowed nor able to stop the source's loop — and never
 * thrown into a native callback (uiohook's), where it would abort the process.
 */
export function deliver<Event>(onEvent: (event: Event) => void, event: Event): void {
  try {
    onEvent(event);
  } catch (error) {
    setImmediate(() => {
      throw error;
    });
  }
}
