package dev.meshc.ir.kernel;

/**
 * Where a block of a global matrix lives on a PE: rows [row0, row0 + rows) and columns
 * [col0, col0 + cols) of {@code tensor} (padded with zeros past its real size) are in
 * {@code buffer}, row-major, or column-major when {@code transposed}. The host scatters inputs
 * and gathers outputs with these; the CSL host script uses the same.
 */
public record TileMap(String buffer, String tensor, int row0, int col0, int rows, int cols, boolean transposed) {
  public static TileMap of(String buffer, String tensor, int row0, int col0, int rows, int cols) {
    return new TileMap(buffer, tensor, row0, col0, rows, cols, false);
  }
}
