/// A coding key made at run time, for JSON objects whose keys are data (tensor names, figure
/// names) rather than a type's fields.
public struct JSONKey: CodingKey {
  public var stringValue: String
  public var intValue: Int? { nil }
  public init(_ name: String) { stringValue = name }
  public init(stringValue: String) { self.stringValue = stringValue }
  public init?(intValue: Int) { nil }
}
