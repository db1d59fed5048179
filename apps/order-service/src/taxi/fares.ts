import { BizCode, GeoPoint } from './taxi.model.js';

interface FareTable {
  baseCents: number;
  perKmCents: number;
  cancellationCents: number;
}

const FARES: Record<string, FareTable> = {
  [BizCode.EXPRESS]: { baseCents: 800, perKmCents: 200, cancellationCents: 500 },
  [BizCode.TAXI]: { baseCents: 1300, perKmCents: 230, cancellationCents: 300 },
  [BizCode.PREMIUM]: { baseCents: 2000, perKmCents: 400, cancellationCents: 1000 },
};

function tableOf(bizCode: string): FareTable {
  const table = FARES[bizCode];
  if (!table) throw new Error(`no fare table for bizCode ${bizCode}`);
  return table;
}

/** The fare of a ride of `distanceKm`, in cents, by product. */
export function fareCents(bizCode: string, distanceKm: number): number {
  const { baseCents, perKmCents } = tableOf(bizCode);
  return baseCents + Math.round(perKmCents * distanceKm);
}

/** A passenger who cancels after the driver has arrived pays for the driver's trip. */
export function cancellationFeeCents(bizCode: string, driverArrived: boolean): number {
  return driverArrived ? tableOf(bizCode).cancellationCents : 0;
}

/** Great-circle distance in km. */
export function distanceKm(a: GeoPoint, b: GeoPoint): number {
  const rad = (deg: number) => (deg * Math.PI) / 180;
  const dLat = rad(b.lat - a.lat);
  const dLng = rad(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}
