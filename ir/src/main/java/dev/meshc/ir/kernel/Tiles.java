package dev.meshc.ir.kernel;

/** Tile arithmetic shared by the templates. */
public final class Tiles {
  private Tiles() {}

  /** ⌈dim / parts⌉, as an int: the tile a PE holds once dim is padded to a multiple of parts. */
  public static int tile(long dim, int parts) {
    long t = (dim + parts - 1) / parts;
    if (t > Integer.MAX_VALUE / 4) {
      throw new IllegalArgumentException("tile of " + t + " elements is too large");
    }
    return (int) t;
  }
}
