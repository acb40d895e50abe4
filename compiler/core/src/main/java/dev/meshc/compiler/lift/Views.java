package dev.meshc.compiler.lift;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Works out how a chain of pure view ops (Reshape, Transpose, Unsqueeze, Squeeze, Flatten,
 * Expand) rearranges a source tensor, whatever the exporter's exact sequence: each source axis is
 * cut into atoms, and every axis of the result is a row-major run of atoms (or a broadcast, from
 * Expand). Head splits, merges and GQA repeats are then read off the atoms. Unit dims carry no
 * atoms, so where a size-1 batch goes does not matter.
 */
final class Views {
  private Views() {}

  static final Set<String> VIEW_OPS = Set.of("Reshape", "Transpose", "Unsqueeze", "Squeeze", "Flatten", "Expand");

  /** A piece of a source axis ({@code axis} ≥ 0), or a broadcast repeat ({@code axis} = -1). */
  static final class Atom {
    long size;
    final int axis;

    Atom(long size, int axis) {
      this.size = size;
      this.axis = axis;
    }
  }

  /** The result of following a chain: the result's axes as atom runs over {@code source}'s axes. */
  record View(String source, List<LNode> chain, List<List<Atom>> srcAtoms, List<List<Atom>> axes) {
    int rank() {
      return axes.size();
    }

    /** Whether result axis {@code i} is all of source axis {@code src}, in order. */
    boolean full(int i, int src) {
      return axes.get(i).equals(srcAtoms.get(src));
    }

    /**
     * Whether result axes {@code major} and {@code minor} split source axis {@code src} in two:
     * major holds its leading atoms, minor the rest. Returns the major part's size, or -1.
     */
    long split(int major, int minor, int src) {
      List<Atom> all = srcAtoms.get(src);
      List<Atom> hi = axes.get(major);
      List<Atom> lo = axes.get(minor);
      if (hi.size() + lo.size() != all.size() || !all.subList(0, hi.size()).equals(hi)
          || !all.subList(hi.size(), all.size()).equals(lo)) {
        return -1;
      }
      long s = 1;
      for (Atom a : hi) {
        s *= a.size;
      }
      return s;
    }

    /** Result axis {@code i} as all of source axis {@code src} followed by one broadcast; its size, or -1. */
    long repeated(int i, int src) {
      List<Atom> ax = axes.get(i);
      List<Atom> all = srcAtoms.get(src);
      if (ax.size() != all.size() + 1 || !ax.subList(0, all.size()).equals(all) || ax.get(all.size()).axis != -1) {
        return -1;
      }
      return ax.get(all.size()).size;
    }
  }

  /**
   * The view chains ending at {@code v}, nearest source first: for each value reached by walking
   * back through view ops (including {@code v} itself, with an empty chain).
   */
  static List<View> back(LiftGraph g, String v) {
    List<LNode> chain = new ArrayList<>();
    List<View> r = new ArrayList<>();
    String cur = v;
    while (true) {
      View view = apply(g, cur, chain);
      if (view != null) {
        r.add(view);
      }
      LNode p = g.producer(cur);
      if (p == null || !VIEW_OPS.contains(p.op())) {
        return r;
      }
      chain.add(0, p);
      cur = p.in(0);
    }
  }

  /** Applies {@code chain} (in execution order) to {@code source}; null when it cannot be tracked. */
  static View apply(LiftGraph g, String source, List<LNode> chain) {
    long[] dims = g.dims(source);
    List<List<Atom>> src = new ArrayList<>();
    List<List<Atom>> axes = new ArrayList<>();
    for (int i = 0; i < dims.length; i++) {
      List<Atom> a = new ArrayList<>();
      if (dims[i] != 1) {
        a.add(new Atom(dims[i], i));
      }
      src.add(a);
      axes.add(new ArrayList<>(a));
    }
    for (LNode n : chain) {
      long[] out = g.dims(n.out());
      axes = switch (n.op()) {
        case "Transpose" -> {
          List<List<Atom>> t = new ArrayList<>();
          for (long p : n.attrs().getInts("perm")) {
            t.add(axes.get((int) p));
          }
          yield t;
        }
        case "Expand" -> expand(axes, out);
        default -> regroup(axes, out, src);
      };
      if (axes == null) {
        return null;
      }
    }
    return new View(source, List.copyOf(chain), src, axes);
  }

  private static List<List<Atom>> expand(List<List<Atom>> axes, long[] out) {
    List<List<Atom>> r = new ArrayList<>();
    int off = out.length - axes.size();
    for (int i = 0; i < out.length; i++) {
      List<Atom> a = i < off ? new ArrayList<>() : new ArrayList<>(axes.get(i - off));
      if (a.isEmpty() && out[i] != 1) {
        a.add(new Atom(out[i], -1));
      }
      r.add(a);
    }
    return r;
  }

  /** A reshape: the atoms in row-major order, cut to fill the new dims; an atom may split. */
  private static List<List<Atom>> regroup(List<List<Atom>> axes, long[] out, List<List<Atom>> src) {
    List<Atom> seq = new ArrayList<>();
    axes.forEach(seq::addAll);
    List<List<Atom>> r = new ArrayList<>();
    int k = 0;
    for (long d : out) {
      List<Atom> ax = new ArrayList<>();
      long need = d;
      while (need > 1) {
        if (k >= seq.size()) {
          return null;
        }
        Atom a = seq.get(k);
        if (a.size <= need) {
          if (need % a.size != 0) {
            return null;
          }
          ax.add(a);
          need /= a.size;
          k++;
        } else {
          if (a.size % need != 0 || a.axis < 0) {
            return null;
          }
          Atom lo = new Atom(a.size / need, a.axis);
          a.size = need;
          seq.add(k + 1, lo);
          List<Atom> owner = src.get(a.axis);
          owner.add(owner.indexOf(a) + 1, lo);
          ax.add(a);
          need = 1;
          k++;
        }
      }
      r.add(ax);
    }
    return k == seq.size() ? r : null;
  }
}
