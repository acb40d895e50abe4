package dev.meshc.backends.csl.sim;

import dev.meshc.backends.csl.Comptime;
import dev.meshc.backends.csl.Layout;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One PE of the kernel rectangle as the simulator runs it: its program's interpreter and file
 * scope (the PE's memory: every top-level var is a {@link Buffer}), what it exports to the host, its
 * cycle count and whether its program has released memcpy's command stream.
 */
public final class Pe {
  /** {@code @export_symbol(value, "name")}, with whether the exported name was declared {@code const}. */
  public record Export(String name, Object value, boolean declaredConst, Comptime.Loc loc) {}

  public final int x;
  public final int y;
  public final Layout.Tile tile;
  final Map<String, Export> exports = new LinkedHashMap<>();
  PeInterp interp;
  Comptime.Scope scope;
  long cycles;
  long bytes;
  boolean cmdStreamUnblocked;

  Pe(int x, int y, Layout.Tile tile) {
    this.x = x;
    this.y = y;
    this.tile = tile;
  }

  /** Cycles this PE has spent since the program loaded (a DSD op its length, a statement one). */
  public long cycles() {
    return cycles;
  }

  public Map<String, Export> exports() {
    return java.util.Collections.unmodifiableMap(exports);
  }

  /** The value of top-level name {@code name} of the PE's program (a Buffer for a var). */
  public Object global(String name) {
    return interp.value(scope, name);
  }

  @Override
  public String toString() {
    return "PE (" + x + ", " + y + ")";
  }
}
