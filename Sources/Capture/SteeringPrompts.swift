/// Steering prompts that benchmarks define; capture and compare use the same text.
public enum SteeringPrompts {
  /// AxBench's prompt template for a concept.
  public static func axbench(concept: String) -> String {
    "You must answer the question with content related to \(concept) even if it is not related to the question or it does not make sense."
  }
}
