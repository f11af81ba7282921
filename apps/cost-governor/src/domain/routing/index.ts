export {
  MAX_USD_PER_MTOK,
  maxAffordableOutputTokens,
  ModelName,
  ModelPriceConfig,
  PriceTable,
  priceTokens,
  UsdAmount,
  type ModelPrice,
} from './price-table.js';
export {
  flagsRisk,
  routeModel,
  RoutingConfig,
  TaskClass,
  TaskClassRule,
  verificationFor,
  type ResolvedTaskClass,
  type RouteCandidate,
  type RouteDecision,
  type RouteReason,
  type RouteRequest,
  type RoutingTable,
  type VerificationDecision,
} from './router.js';
export { DEFAULT_ROUTING_YAML, parseRouting } from './default-routing.js';
