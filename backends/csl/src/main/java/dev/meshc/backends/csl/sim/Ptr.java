package dev.meshc.backends.csl.sim;

/** {@code &x} and pointers made from it ({@code [*]f32}, {@code *f32}): a buffer and an element offset. */
public record Ptr(Buffer buffer, int offset) {}
