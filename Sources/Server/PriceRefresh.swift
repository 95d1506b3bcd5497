import CloudModel
import Engine
import Logging

/// `pricing.refresh`: the region's Fargate prices read from the Price List API at start.
enum PriceRefresh {
    /// `table` with `region`'s prices as the Price List API publishes them, dated as
    /// published; `table` as it was when they cannot be read (said in the log: the costs then
    /// carry the table's own date).
    static func refreshed(_ table: PriceTable, region: String, from list: any PriceListAPI, logger: Logger) async -> PriceTable {
        do {
            let (prices, published) = try await list.fargatePrices(region: region)
            var refreshed = table
            refreshed.regions[region] = prices
            refreshed.date = published.isEmpty ? table.date : published
            refreshed.currency = "USD"
            logger.info("pricing: Fargate prices of \(region) read from the Price List API (published \(refreshed.date))")
            return refreshed
        } catch {
            logger.warning("pricing: the Price List API could not be read (\(error)); costs use the prices of \(table.date)")
            return table
        }
    }
}
