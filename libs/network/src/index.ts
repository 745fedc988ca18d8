export { AddressRanges, familyOf, formatCidr, normalizeAddress, parseCidr } from './address-ranges';
export type { AddressFamily, Cidr } from './address-ranges';
export { clientAddressOf, clientKeyOf } from './client-address';
