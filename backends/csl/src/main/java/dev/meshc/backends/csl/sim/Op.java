package dev.meshc.backends.csl.sim;

import dev.meshc.backends.csl.Comptime;
import java.util.List;

/**
 * One DSD operation in flight: {@code @fadds(dst, a, b)} and its kin over memory DSDs, fabric DSDs
 * ({@code fabin_dsd}/{@code fabout_dsd}), FIFOs and scalars, advanced element by element as its
 * inputs arrive and its outputs have room. A synchronous operation holds its PE's thread until it
 * is done; an {@code .async} one runs on a microthread and, when done, activates or unblocks a task.
 */
final class Op {
  /** A {@code fabin_dsd} or {@code fabout_dsd}: a colour, its queue, a length, and (out) whether wavelets are control. */
  record Fab(boolean in, int color, int queue, int extent, boolean control, Comptime.Loc loc) {}

  /** What the op computes per element: the first operand is the destination. */
  enum Kind {
    MOV(2), NEG(2), ADD(3), SUB(3), MUL(3), MAX(3), MAC(4);

    final int arity;

    Kind(int arity) {
      this.arity = arity;
    }

    /**
     * One element: {@code v[1..]} the sources' values (v[0] unused). The multiply of fmac is rounded
     * to the type before the add (the SDK does not document a fused fmac).
     */
    double apply(Scalar type, double[] v) {
      return switch (this) {
        case MOV -> v[1];
        case NEG -> -v[1];
        case ADD -> type.isFloat ? v[1] + v[2] : (long) v[1] + (long) v[2];
        case SUB -> type.isFloat ? v[1] - v[2] : (long) v[1] - (long) v[2];
        case MUL -> v[1] * v[2];
        case MAX -> Math.max(v[1], v[2]);
        case MAC -> v[1] + type.round(v[2] * v[3]);
      };
    }
  }

  final String name;
  final Kind kind;
  final Scalar type;
  final List<Object> operands;
  final int length;
  final Pe pe;
  final Comptime.Loc loc;
  /** Tasks to activate and to unblock when done (null: none). */
  final Object activate;
  final Object unblock;
  /** The microthreads an async op holds (WSE-2: its queues; WSE-3: its .ut_id), empty when synchronous. */
  final List<Integer> threads;
  final boolean async;
  int done;
  /**
   * The op's own time: it starts at the cycle it is issued and moves one element a cycle, waiting for
   * wavelets that arrive later. An async op's time is its microthread's; a synchronous one's becomes
   * the PE's when it ends.
   */
  long clock;
  /** Why its last element could not be sent, for a deadlock report. */
  String blockedBy;

  Op(String name, Kind kind, Scalar type, List<Object> operands, int length, Pe pe, Comptime.Loc loc, Object activate,
      Object unblock, List<Integer> threads, boolean async) {
    this.name = name;
    this.kind = kind;
    this.type = type;
    this.operands = operands;
    this.length = length;
    this.pe = pe;
    this.loc = loc;
    this.activate = activate;
    this.unblock = unblock;
    this.threads = threads;
    this.async = async;
    this.clock = pe.cycles;
  }

  boolean finished() {
    return done >= length;
  }

  /** Moves as many elements as the inputs and outputs allow; true when it moved at least one. */
  boolean advance(Simulator sim) {
    boolean moved = false;
    while (done < length && ready(sim)) {
      double[] v = new double[operands.size()];
      long at = clock;
      for (int i = 1; i < operands.size(); i++) {
        Object o = operands.get(i);
        if (o instanceof Fab f) {
          Fabric.Wavelet w = pe.inbox(f.color()).poll();
          at = Math.max(at, w.time());
          v[i] = type.fromBits(w.data());
        } else if (o instanceof Fifo q) {
          v[i] = q.pop();
        } else if (o instanceof Dsd d) {
          v[i] = narrow(d.buffer(), d.buffer().load(d.at(done)));
        } else {
          v[i] = (Double) o;
        }
      }
      double r = kind.apply(type, v);
      clock = at + 1;
      Object dst = operands.get(0);
      if (dst instanceof Fab f) {
        sim.send(pe, f, type.toBits(type.round(r)), clock, loc);
      } else if (dst instanceof Fifo q) {
        q.push(r);
      } else {
        Dsd d = (Dsd) dst;
        Buffer b = d.buffer();
        b.store(d.at(done), b.type != type ? b.type.fromBits(type.toBits(type.round(r))) : r);
      }
      done++;
      moved = true;
    }
    return moved;
  }

  /**
   * An element as the operation's type reads it: the array's bits (a move of f32 over a u32 array
   * moves the words; a 16-bit operation on a 32-bit array reads the low half, meshc's model).
   */
  private double narrow(Buffer b, double v) {
    return b.type != type ? type.fromBits(b.type.toBits(v)) : v;
  }

  /** Every fabric input has a data wavelet waiting, every FIFO input a value, and the output has room. */
  private boolean ready(Simulator sim) {
    for (int i = 1; i < operands.size(); i++) {
      Object o = operands.get(i);
      if (o instanceof Fab f) {
        Fabric.Wavelet w = pe.inbox(f.color()).peek();
        if (w == null || w.control()) {
          return false;
        }
      } else if (o instanceof Fifo q && q.empty()) {
        return false;
      }
    }
    Object dst = operands.get(0);
    if (dst instanceof Fab f) {
      blockedBy = sim.blocked(pe, f, loc);
      return blockedBy == null;
    }
    return !(dst instanceof Fifo q) || !q.full();
  }

  /** What it waits for, for a deadlock report. */
  String waitingFor(Simulator sim) {
    for (int i = 1; i < operands.size(); i++) {
      if (operands.get(i) instanceof Fab f && pe.inbox(f.color()).isEmpty()) {
        return "a wavelet on colour " + f.color() + " (input queue " + f.queue() + ")";
      }
      if (operands.get(i) instanceof Fifo q && q.empty()) {
        return "data in FIFO '" + q.buffer.name + "'";
      }
    }
    Object dst = operands.get(0);
    if (dst instanceof Fab f) {
      return blockedBy != null ? blockedBy : "room to send on colour " + f.color() + " (output queue " + f.queue() + ")";
    }
    return "room in FIFO '" + ((Fifo) dst).buffer.name + "'";
  }

  @Override
  public String toString() {
    return name + (async ? " .async" : "") + " at " + loc + " (" + done + " of " + length + " done)";
  }
}
