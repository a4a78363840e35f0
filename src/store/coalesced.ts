/**
 * A refresh that never overlaps itself: a call while a round runs gets that round's promise and
 * asks for one more round after it (what it reads may have changed since the round started); any
 * number of such calls make one more round, not one each. `round` handles its own errors.
 */
export function coalesced(round: () => Promise<void>): () => Promise<void> {
  let inFlight: Promise<void> | null = null;
  let again = false;
  return () => {
    if (inFlight) {
      again = true;
      return inFlight;
    }
    inFlight = (async () => {
      do {
        again = false;
        await round();
      } while (again);
    })().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}
