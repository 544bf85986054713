/// A failure found while a command runs (not in its arguments): printed as one "Error: …" line,
/// without the usage text that a `ValidationError` brings.
public struct CLIError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}
