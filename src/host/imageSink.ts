/** Where a stream's bytes go, at their offsets; end() makes them durable and closes. */
export interface ImageSink {
  write(bufs: Buffer[], offset: number, length: number): Promise<void>;
  end(size: number): Promise<void>;
  /** Stops without making anything durable (the caller removes the file). */
  abort(): Promise<void>;
}
