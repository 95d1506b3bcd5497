import AWSAuth
import Foundation

extension AWSTransport {
    /// Signs with AWSAuth's Signature Version 4 signer.
    public static let sigV4: RequestSigner = { input in
        SigV4Signer(credentials: input.credentials, region: input.region, service: input.service)
            .sign(method: input.method, url: input.url, headers: input.headers, body: input.body, date: input.date)
    }
}
