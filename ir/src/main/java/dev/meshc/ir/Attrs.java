package dev.meshc.ir;

import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/** Immutable named attributes, kept sorted by name so that printing is deterministic. */
public final class Attrs {
  public static final Attrs EMPTY = new Attrs(new TreeMap<>());

  private final SortedMap<String, Attr> map;

  private Attrs(SortedMap<String, Attr> map) {
    this.map = Collections.unmodifiableSortedMap(map);
  }

  public static Attrs of(Map<String, Attr> m) {
    return new Attrs(new TreeMap<>(m));
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.map.putAll(map);
    return b;
  }

  public SortedMap<String, Attr> asMap() {
    return map;
  }

  public boolean has(String name) {
    return map.containsKey(name);
  }

  public boolean isEmpty() {
    return map.isEmpty();
  }

  public Optional<Attr> get(String name) {
    return Optional.ofNullable(map.get(name));
  }

  public long getInt(String name, long dflt) {
    Attr a = map.get(name);
    if (a == null) {
      return dflt;
    }
    if (a instanceof Attr.Int i) {
      return i.value();
    }
    throw wrongKind(name, "an integer", a);
  }

  public long requireInt(String name) {
    if (!map.containsKey(name)) {
      throw MeshcException.input("missing attribute '%s'", name);
    }
    return getInt(name, 0);
  }

  public float getFloat(String name, float dflt) {
    Attr a = map.get(name);
    if (a == null) {
      return dflt;
    }
    if (a instanceof Attr.Float f) {
      return f.value();
    }
    if (a instanceof Attr.Int i) {
      return i.value();
    }
    throw wrongKind(name, "a float", a);
  }

  public String getString(String name, String dflt) {
    Attr a = map.get(name);
    if (a == null) {
      return dflt;
    }
    if (a instanceof Attr.Str s) {
      return s.value();
    }
    throw wrongKind(name, "a string", a);
  }

  /** An integer list, or {@code null} when absent. */
  public long[] getInts(String name) {
    Attr a = map.get(name);
    if (a == null) {
      return null;
    }
    if (a instanceof Attr.Ints i) {
      return i.toArray();
    }
    if (a instanceof Attr.Floats f && f.values().isEmpty()) {
      return new long[0];
    }
    throw wrongKind(name, "an integer list", a);
  }

  /** A float list, or {@code null} when absent. */
  public float[] getFloats(String name) {
    Attr a = map.get(name);
    if (a == null) {
      return null;
    }
    if (a instanceof Attr.Floats f) {
      float[] r = new float[f.values().size()];
      for (int i = 0; i < r.length; i++) {
        r[i] = f.values().get(i);
      }
      return r;
    }
    if (a instanceof Attr.Ints i) {
      float[] r = new float[i.values().size()];
      for (int k = 0; k < r.length; k++) {
        r[k] = i.values().get(k);
      }
      return r;
    }
    throw wrongKind(name, "a float list", a);
  }

  private static MeshcException wrongKind(String name, String wanted, Attr a) {
    String got;
    if (a instanceof Attr.Int i) {
      got = "the integer " + i.value();
    } else if (a instanceof Attr.Float f) {
      got = "the float " + f.value();
    } else if (a instanceof Attr.Str s) {
      got = "the string \"" + s.value() + "\"";
    } else if (a instanceof Attr.Ints i) {
      got = "the integer list " + i.values();
    } else if (a instanceof Attr.Floats f) {
      got = "the float list " + f.values();
    } else {
      got = "a tensor";
    }
    return MeshcException.input("attribute '%s' should be %s, not %s", name, wanted, got);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Attrs a && map.equals(a.map);
  }

  @Override
  public int hashCode() {
    return map.hashCode();
  }

  @Override
  public String toString() {
    return map.toString();
  }

  /** Accumulates attributes; {@link #build()} freezes them. */
  public static final class Builder {
    private final TreeMap<String, Attr> map = new TreeMap<>();

    public Builder put(String name, Attr a) {
      map.put(name, a);
      return this;
    }

    public Builder put(String name, long v) {
      return put(name, new Attr.Int(v));
    }

    public Builder put(String name, float v) {
      return put(name, new Attr.Float(v));
    }

    public Builder put(String name, String v) {
      return put(name, new Attr.Str(v));
    }

    public Builder put(String name, long[] v) {
      return put(name, Attr.ints(v));
    }

    public Builder remove(String name) {
      map.remove(name);
      return this;
    }

    public Attrs build() {
      return new Attrs(new TreeMap<>(map));
    }
  }
}
