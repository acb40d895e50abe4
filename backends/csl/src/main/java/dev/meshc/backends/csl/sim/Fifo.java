package dev.meshc.backends.csl.sim;

/**
 * {@code @allocate_fifo(buffer)}: a ring over the buffer's elements that one DSD operation writes
 * and another reads; a writer waits while it is full, a reader while it is empty.
 */
final class Fifo {
  final Buffer buffer;
  private int head;
  private int count;

  Fifo(Buffer buffer) {
    this.buffer = buffer;
  }

  boolean empty() {
    return count == 0;
  }

  boolean full() {
    return count == buffer.length();
  }

  void push(double v) {
    buffer.store((head + count) % buffer.length(), v);
    count++;
  }

  double pop() {
    double v = buffer.load(head);
    head = (head + 1) % buffer.length();
    count--;
    return v;
  }
}
