package dev.meshc.ir.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.meshc.ir.MeshcException;
import java.io.InputStream;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** A machine file's colours: a router's colours are kept as bits of a long, so more than 64 is refused in one line. */
class MachineSpecTest {
  @Test
  void moreThanSixtyFourRoutableColoursAreRefused() throws Exception {
    Properties p = new Properties();
    try (InputStream in = MachineSpec.class.getResourceAsStream("wse2.properties")) {
      p.load(in);
    }
    assertEquals(24, MachineSpec.fromProperties(p, "wse2").routableColors());
    p.setProperty("routable_colors", "64");
    assertEquals(64, MachineSpec.fromProperties(p, "64 colours").routableColors());
    p.setProperty("routable_colors", "65");
    MeshcException e = assertThrows(MeshcException.class, () -> MachineSpec.fromProperties(p, "65 colours"));
    assertEquals("machine spec: routable_colors is at most 64 (a WSE router has 24)", e.getMessage());
  }
}
