import { useState } from 'preact/hooks';

/** The outcome of the last button pressed in a view, said where the owner looks. */
export function useAction(after: () => void) {
  const [message, setMessage] = useState<string | null>(null);
  const run = (what: Promise<unknown>, done: string) =>
    what.then(
      () => {
        setMessage(done);
        after();
      },
      (error: Error) => setMessage(error.message),
    );
  return { message, run };
}
