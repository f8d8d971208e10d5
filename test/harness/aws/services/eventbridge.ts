/**
 * EventBridge on the wire (JSON 1.1, `X-Amz-Target: AWSEvents.PutEvents`): a fake that keeps event
 * buses and the events put on them, with PutEvents's rules as recorded from the service:
 *
 * - 1 to 10 entries, else ValidationException; entries over 256 KB in total (Time counts 14 bytes,
 *   Source, DetailType, Detail and each Resources ARN their UTF-8 bytes), else ValidationException
 *   "Total size of the entries in the request is over the limit." (the whole request fails).
 * - an entry without Source, DetailType or Detail fails alone: ErrorCode InvalidArgument, ErrorMessage
 *   "Parameter Source is not valid. Reason: Source is a required argument." (DetailType, Detail
 *   alike); a Detail that is not a JSON object: ErrorCode MalformedDetail, "Detail is malformed.".
 *   The answer is 200 with FailedEntryCount and one result per entry, in order.
 * - EventBusName by name or ARN, `default` when omitted. An entry for a bus that does not exist is
 *   accepted (an EventId, FailedEntryCount 0) and dropped, as the service does; `unknownBus: 'fail'`
 *   turns it into an entry error (ResourceNotFoundException) for tests that want it loud.
 */
import * as crypto from 'crypto';
import { AwsError, decodeJsonForLog, jsonInput, jsonResponse, jsonTarget, WireRequest, WireResponse } from '../protocols';
import { ServiceModule } from '../wire-server';

/** Most entries in one PutEvents request. */
export const EVENTBRIDGE_MAX_ENTRIES = 10;
/** Largest total entry size of one PutEvents request, in bytes. */
export const EVENTBRIDGE_MAX_REQUEST_BYTES = 262144;
/** Longest DetailType. */
export const EVENTBRIDGE_MAX_DETAIL_TYPE_LENGTH = 128;
/** Longest Source. */
export const EVENTBRIDGE_MAX_SOURCE_LENGTH = 256;

const BUS_ARN = /^arn:aws[a-z-]*:events:([a-z0-9-]+):(\d{12}):event-bus\/([/.\-_A-Za-z0-9]{1,256})$/;
const BUS_NAME = /^[/.\-_A-Za-z0-9]{1,256}$/;

/** One event EventBridge accepted. */
export interface PutEvent {
  readonly eventId: string;
  /** The bus name (also when the entry named it by ARN). */
  readonly eventBusName: string;
  /** What the entry said (a name, an ARN, or undefined for the default bus). */
  readonly requestedBus?: string;
  readonly source: string;
  readonly detailType: string;
  /** The Detail, parsed. */
  readonly detail: Record<string, unknown>;
  /** The Detail as sent. */
  readonly detailText: string;
  readonly resources: readonly string[];
  /** The entry's Time, or the time of the call. */
  readonly time: Date;
  readonly traceHeader?: string;
  /** The event as rule targets receive it (`version`, `id`, `detail-type`, `source`, `account`...). */
  readonly envelope: Readonly<Record<string, unknown>>;
}

/** Options of the EventBridge fake. */
export interface EventBridgeServiceOptions {
  /** The account of the buses (in ARNs and event envelopes). @default '123456789012' */
  readonly account?: string;
  /**
   * What an entry for a bus that does not exist gets: `accept` (an EventId, then dropped: what
   * EventBridge does) or `fail` (an entry error ResourceNotFoundException, "Event bus X does not exist.").
   * @default 'accept'
   */
  readonly unknownBus?: 'accept' | 'fail';
}

interface EntryResult {
  readonly EventId?: string;
  readonly ErrorCode?: string;
  readonly ErrorMessage?: string;
}

/** An entry that fails on its own (reported in Entries, not thrown to the caller). */
class EntryError extends Error {
  constructor(public readonly code: string, message: string) {
    super(message);
  }
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function requiredMissing(member: string): EntryError {
  return new EntryError('InvalidArgument', `Parameter ${member} is not valid. Reason: ${member} is a required argument.`);
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** The size EventBridge counts for one entry (Calculating PutEvents event entry size). */
export function entrySize(entry: Record<string, unknown>): number {
  let size = 0;
  if (entry.Time !== undefined && entry.Time !== null) size += 14;
  for (const member of ['Source', 'DetailType', 'Detail'] as const) {
    if (typeof entry[member] === 'string') size += utf8Bytes(entry[member] as string);
  }
  if (Array.isArray(entry.Resources)) for (const r of entry.Resources) if (typeof r === 'string') size += utf8Bytes(r);
  return size;
}

/** The EventBridge fake: event buses and the events put on them (see the file comment for the rules). */
export class EventBridgeService implements ServiceModule {
  /** SigV4 signing name of EventBridge. */
  public readonly signingNames = ['events'];
  /** `AWS_ENDPOINT_URL_EVENTBRIDGE`. */
  public readonly endpointEnvNames = ['EVENTBRIDGE'];
  /** JSON 1.1 (errors as `__type`). */
  public readonly protocol = 'json' as const;

  private readonly account: string;
  private readonly unknownBus: 'accept' | 'fail';
  private readonly buses = new Set<string>(['default']);
  private readonly accepted: PutEvent[] = [];
  private readonly droppedEvents: PutEvent[] = [];

  constructor(options: EventBridgeServiceOptions = {}) {
    this.account = options.account ?? '123456789012';
    this.unknownBus = options.unknownBus ?? 'accept';
  }

  // --- ServiceModule ---------------------------------------------------------------------------

  public action(req: WireRequest): string {
    return jsonTarget(req);
  }

  public decode(req: WireRequest): unknown {
    return decodeJsonForLog(req);
  }

  public handle(req: WireRequest, action: string): WireResponse {
    const input = jsonInput(req);
    if (action !== 'PutEvents') {
      throw new AwsError('UnknownOperationException', `The EventBridge fake does not implement ${action || '(no X-Amz-Target)'}`);
    }
    return jsonResponse(this.putEvents(input, req.region));
  }

  // --- test helpers --------------------------------------------------------------------------------

  /** Creates a custom event bus (`default` always exists). */
  public createEventBus(name: string): this {
    if (!BUS_NAME.test(name)) throw new Error(`EventBridgeService: not an event bus name: ${name}`);
    this.buses.add(name);
    return this;
  }

  /** Deletes a custom event bus: entries for it are then treated as for an unknown bus. */
  public deleteEventBus(name: string): void {
    if (name !== 'default') this.buses.delete(name);
  }

  /** The ARN of a bus of this fake's account. */
  public eventBusArn(name: string, region = 'us-east-1'): string {
    return `arn:aws:events:${region}:${this.account}:event-bus/${name}`;
  }

  /** Events accepted on existing buses, in order; only those of one bus (name or ARN) when given. */
  public events(bus?: string): PutEvent[] {
    const name = bus === undefined ? undefined : BUS_ARN.exec(bus)?.[3] ?? bus;
    return this.accepted.filter((e) => name === undefined || e.eventBusName === name);
  }

  /** Events accepted for buses that did not exist (EventBridge drops them silently). */
  public get dropped(): PutEvent[] {
    return [...this.droppedEvents];
  }

  /** Forgets the events kept so far (buses stay). */
  public clearEvents(): void {
    this.accepted.length = 0;
    this.droppedEvents.length = 0;
  }

  // --- PutEvents -----------------------------------------------------------------------------------

  private putEvents(input: Record<string, unknown>, region: string): Record<string, unknown> {
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length < 1) {
      throw new AwsError('ValidationException', "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1");
    }
    if (entries.length > EVENTBRIDGE_MAX_ENTRIES) {
      throw new AwsError('ValidationException',
        `1 validation error detected: Value '[${entries.length} entries]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${EVENTBRIDGE_MAX_ENTRIES}`);
    }
    const total = entries.reduce((sum: number, e: unknown) => sum + entrySize((e ?? {}) as Record<string, unknown>), 0);
    if (total > EVENTBRIDGE_MAX_REQUEST_BYTES) throw new AwsError('ValidationException', 'Total size of the entries in the request is over the limit.');

    const now = new Date();
    const results: EntryResult[] = entries.map((raw: unknown) => {
      try {
        return { EventId: this.acceptEntry((raw ?? {}) as Record<string, unknown>, region, now) };
      } catch (err) {
        if (err instanceof EntryError) return { ErrorCode: err.code, ErrorMessage: err.message };
        throw err;
      }
    });
    return { FailedEntryCount: results.filter((r) => r.ErrorCode !== undefined).length, Entries: results };
  }

  /** Checks one entry and keeps it; throws EntryError for an entry that fails. */
  private acceptEntry(entry: Record<string, unknown>, region: string, now: Date): string {
    if (isEmpty(entry.Source)) throw requiredMissing('Source');
    if (isEmpty(entry.DetailType)) throw requiredMissing('DetailType');
    if (isEmpty(entry.Detail)) throw requiredMissing('Detail');
    const source = String(entry.Source);
    const detailType = String(entry.DetailType);
    const detailText = String(entry.Detail);
    if (source.length > EVENTBRIDGE_MAX_SOURCE_LENGTH) {
      throw new EntryError('InvalidArgument', `Parameter Source is not valid. Reason: Source is longer than ${EVENTBRIDGE_MAX_SOURCE_LENGTH} characters.`);
    }
    if (detailType.length > EVENTBRIDGE_MAX_DETAIL_TYPE_LENGTH) {
      throw new EntryError('InvalidArgument', `Parameter DetailType is not valid. Reason: DetailType is longer than ${EVENTBRIDGE_MAX_DETAIL_TYPE_LENGTH} characters.`);
    }
    let detail: unknown;
    try {
      detail = JSON.parse(detailText);
    } catch {
      throw new EntryError('MalformedDetail', 'Detail is malformed.');
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) throw new EntryError('MalformedDetail', 'Detail is malformed.');

    const requestedBus = typeof entry.EventBusName === 'string' && entry.EventBusName !== '' ? entry.EventBusName : undefined;
    const { name: busName, exists } = this.resolveBus(requestedBus, region);
    if (!exists && this.unknownBus === 'fail') throw new EntryError('ResourceNotFoundException', `Event bus ${busName} does not exist.`);

    const eventId = crypto.randomUUID();
    const time = typeof entry.Time === 'number' ? new Date(entry.Time * 1000) : now;
    const resources = Array.isArray(entry.Resources) ? entry.Resources.map(String) : [];
    const event: PutEvent = {
      eventId,
      eventBusName: busName,
      requestedBus,
      source,
      detailType,
      detail: detail as Record<string, unknown>,
      detailText,
      resources,
      time,
      traceHeader: typeof entry.TraceHeader === 'string' ? entry.TraceHeader : undefined,
      envelope: {
        'version': '0',
        'id': eventId,
        'detail-type': detailType,
        'source': source,
        'account': this.account,
        'time': time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        'region': region,
        'resources': resources,
        'detail': detail,
      },
    };
    (exists ? this.accepted : this.droppedEvents).push(event);
    return eventId;
  }

  /** The bus an entry names (by name or ARN), and whether it exists in this account and region. */
  private resolveBus(requested: string | undefined, region: string): { name: string; exists: boolean } {
    if (requested === undefined) return { name: 'default', exists: true };
    const arn = BUS_ARN.exec(requested);
    if (arn) {
      const [, arnRegion, account, name] = arn;
      return { name, exists: this.buses.has(name) && account === this.account && (region === '' || arnRegion === region) };
    }
    return { name: requested, exists: this.buses.has(requested) };
  }
}
