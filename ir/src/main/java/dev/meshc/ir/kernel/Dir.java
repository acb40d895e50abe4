package dev.meshc.ir.kernel;

/**
 * Router ports, with the SDK's convention: NORTH is y − 1, SOUTH y + 1, WEST x − 1, EAST x + 1;
 * RAMP is the PE's own compute element.
 */
public enum Dir {
  NORTH(0, -1), SOUTH(0, 1), WEST(-1, 0), EAST(1, 0), RAMP(0, 0);

  private final int dx;
  private final int dy;

  Dir(int dx, int dy) {
    this.dx = dx;
    this.dy = dy;
  }

  public int dx() {
    return dx;
  }

  public int dy() {
    return dy;
  }

  public Dir opposite() {
    return switch (this) {
      case NORTH -> SOUTH;
      case SOUTH -> NORTH;
      case WEST -> EAST;
      case EAST -> WEST;
      case RAMP -> RAMP;
    };
  }
}
