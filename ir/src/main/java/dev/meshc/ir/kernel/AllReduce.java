package dev.meshc.ir.kernel;

import dev.meshc.ir.machine.MachineSpec;
import java.util.List;

/**
 * An all-reduce of one buffer along a line of PEs (a column, for the GEMV kernels): the K-tree,
 * and the pipeline and ring baselines. Rules per index along the line, like the templates.
 */
public interface AllReduce {
  String name();

  int rounds();

  int colors();

  List<Route> routes(int i);

  List<Action> actions(int round, int i, String buffer, int len, Combine op);

  int maxHops();

  /** Closed-form cycles to all-reduce {@code wavelets} wavelets, once every PE has its part. */
  double cycles(MachineSpec m, long wavelets);
}
