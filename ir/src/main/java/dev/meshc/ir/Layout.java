package dev.meshc.ir;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.StringJoiner;

/**
 * How a tensor lies on the mesh: per dimension, split along mesh X, split along mesh Y, or
 * replicated. The paper writes {@code B L_y E_x} for an activation whose sequence is split along Y
 * and embedding along X, with the batch replicated: here {@code <*,y,x>}.
 */
public record Layout(List<Axis> dims) {

  /** Where one tensor dimension goes. */
  public enum Axis {
    X("x"),
    Y("y"),
    /** Every PE along both axes holds the whole dimension. */
    REPLICATED("*");

    private final String symbol;

    Axis(String symbol) {
      this.symbol = symbol;
    }

    public String symbol() {
      return symbol;
    }

    public static Axis fromSymbol(String s) {
      for (Axis a : values()) {
        if (a.symbol.equals(s)) {
          return a;
        }
      }
      throw MeshcException.input("unknown layout axis '%s' (expected x, y or *)", s);
    }
  }

  public Layout {
    dims = List.copyOf(dims);
    int x = 0;
    int y = 0;
    for (Axis a : dims) {
      x += a == Axis.X ? 1 : 0;
      y += a == Axis.Y ? 1 : 0;
    }
    if (x > 1 || y > 1) {
      throw MeshcException.input("layout %s splits two dimensions along one mesh axis", render(dims));
    }
  }

  public static Layout of(Axis... dims) {
    return new Layout(List.of(dims));
  }

  public static Layout replicated(int rank) {
    return new Layout(Collections.nCopies(rank, Axis.REPLICATED));
  }

  /**
   * The layout a tensor gets when nothing says otherwise: the last dimension along X, the one
   * before along Y, the rest replicated. For an activation [B, L, E] that is the paper's
   * {@code B L_y E_x}; for a weight [K, N] it is {@code K_y N_x}, the MeshGEMM operand layout.
   */
  public static Layout standard(int rank) {
    List<Axis> a = new ArrayList<>(Collections.nCopies(rank, Axis.REPLICATED));
    if (rank >= 1) {
      a.set(rank - 1, Axis.X);
    }
    if (rank >= 2) {
      a.set(rank - 2, Axis.Y);
    }
    return new Layout(a);
  }

  public int rank() {
    return dims.size();
  }

  public Axis dim(int i) {
    return dims.get(i < 0 ? i + dims.size() : i);
  }

  /** A copy with dimension {@code i} set to {@code axis}; an axis used elsewhere becomes replicated there. */
  public Layout with(int i, Axis axis) {
    List<Axis> a = new ArrayList<>(dims);
    int k = i < 0 ? i + a.size() : i;
    if (axis != Axis.REPLICATED) {
      for (int j = 0; j < a.size(); j++) {
        if (j != k && a.get(j) == axis) {
          a.set(j, Axis.REPLICATED);
        }
      }
    }
    a.set(k, axis);
    return new Layout(a);
  }

  @Override
  public String toString() {
    return render(dims);
  }

  private static String render(List<Axis> dims) {
    StringJoiner j = new StringJoiner(",", "<", ">");
    for (Axis a : dims) {
      j.add(a.symbol());
    }
    return j.toString();
  }
}
