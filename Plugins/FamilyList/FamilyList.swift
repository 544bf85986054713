import Foundation
import PackagePlugin

/// Lists the model families for LM's registry at build time: every `FamilyDescription` that a
/// file in `Sources/LM/Families` declares, so that adding a family is adding its file.
@main
struct FamilyList: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    guard let target = target as? SourceModuleTarget else { return [] }
    let families = target.sourceFiles(withSuffix: "swift").map(\.url).filter { $0.pathComponents.contains("Families") }
    let output = context.pluginWorkDirectoryURL.appending(path: "FamilyList.swift")
    return [
      .buildCommand(
        displayName: "Listing the model families in \(target.name)",
        executable: try context.tool(named: "FamilyListGenerator").url,
        arguments: [output.path] + families.map(\.path), inputFiles: families, outputFiles: [output])
    ]
  }
}
