package dev.meshc.compiler.io;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import java.io.PrintWriter;

/** The one JSON style of every --json output and summary.json: pretty-printed, keys in a fixed order. */
public final class Json {
  private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping()
      .serializeSpecialFloatingPointValues().serializeNulls().create();

  private Json() {}

  public static String text(Object value) {
    return GSON.toJson(value) + System.lineSeparator();
  }

  public static void print(PrintWriter out, Object value) {
    out.println(GSON.toJson(value));
    out.flush();
  }
}
