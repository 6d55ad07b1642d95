// Identifiers: command ids are UUIDv7 (time-ordered), bids fresh UUIDv4 per command.
import { v4, v7 } from "uuid";

export const newCommandId = (): string => v7();
export const newBid = (): string => v4();
export const newEventId = (): string => v7();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string): boolean => UUID.test(s);
