import ClientCLI
import Foundation

let code = await ClientCLI.run(Array(CommandLine.arguments.dropFirst()))
exit(code)
