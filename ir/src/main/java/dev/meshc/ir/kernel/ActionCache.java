package dev.meshc.ir.kernel;

import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.IntFunction;

/**
 * A template's distinct PE programs, each built once and shared. A PE's actions in a round depend
 * on its coordinates only through a small role (its place on a chain, its ring colours, the
 * phase), so a template keys its programs by that role and builds them from the key alone: the
 * key cannot leave out what the program reads. A wafer-scale run asks for 10⁸–10⁹ programs;
 * sharing them keeps the runtime's working set to its own state rather than garbage per PE.
 */
final class ActionCache {
  private final AtomicReferenceArray<List<Action>> lists;
  private final IntFunction<List<Action>> build;

  /** Keys are 0 ≤ key < {@code keys}; {@code build} makes the program of one key. */
  ActionCache(int keys, IntFunction<List<Action>> build) {
    this.lists = new AtomicReferenceArray<>(keys);
    this.build = build;
  }

  List<Action> get(int key) {
    List<Action> a = lists.get(key);
    if (a == null) { // two threads may both build it: equal lists, either is kept
      a = List.copyOf(build.apply(key));
      lists.set(key, a);
    }
    return a;
  }
}
