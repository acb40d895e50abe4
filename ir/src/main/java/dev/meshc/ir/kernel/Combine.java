package dev.meshc.ir.kernel;

/** What a receive does with what arrives: store it, or add or max it into the buffer. */
public enum Combine {
  STORE, ADD, MAX
}
