import ClientCLI
import Foundation

// A reader that goes away (`| head`) makes writes fail, handled by StandardOutput, instead of
// ending the program with SIGPIPE.
signal(SIGPIPE, SIG_IGN)
let code = await ClientCLI.run(Array(CommandLine.arguments.dropFirst()))
exit(code)
