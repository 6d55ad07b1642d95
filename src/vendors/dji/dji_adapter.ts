// DJI behind the vendor port: the catalog, the payload contracts, the reply mapping, job
// progress and device requests of DJI's docks, as src/vendors/vendor_adapter.ts asks for them.
import type { VendorAdapter } from "../vendor_adapter.ts";
import { findCommand, listCommands } from "./catalog.ts";
import { payloadSchema, validatePayload } from "./payload_schema.ts";
import { SEED_COMMAND } from "./seed_command.ts";
import { exclusivityClassOf, exclusivityOf, LASTING_JOB_METHODS } from "./exclusivity_classes.ts";
import { mapReply } from "./reply_mapping.ts";
import { eventLinkKeys, progressLink, readProgress } from "./job_progress.ts";
import { terminalStatusesOf } from "./progress_statuses.ts";
import { describeResultCode } from "./result_code_text.ts";
import { AUTO_ANSWERED_METHODS, autoAnswerOf } from "./request_auto_answers.ts";
import { buildServicesEnvelope, deviceTopic, parseDeviceReply, REPLY_TOPICS } from "./envelope.ts";
import {
  buildEventsReply,
  EVENTS_TOPIC,
  eventsReplyTopic,
  parseDeviceEvent,
} from "./device_event_message.ts";
import {
  buildRequestsReply,
  parseDeviceRequest,
  REQUESTS_TOPIC,
  requestsReplyTopic,
} from "./device_request_message.ts";
import {
  buildStatusReply,
  envelopeGateway,
  firmwareOfState,
  parseStatusMessage,
  PRESENCE_TOPICS,
  presenceTopic,
  statusReplyTopic,
} from "./presence_message.ts";

export const djiAdapter: VendorAdapter = {
  name: "dji",
  findCommand,
  listCommands,
  payloadSchema,
  validatePayload,
  exampleCommand: SEED_COMMAND,
  exclusivityClassOf,
  exclusivityOf,
  lastingJobMethods: LASTING_JOB_METHODS,
  mapReply,
  progressLink,
  eventLinkKeys,
  readProgress,
  terminalStatusesOf,
  describeResultCode,
  autoAnswerOf,
  autoAnsweredMethods: AUTO_ANSWERED_METHODS,
  wire: {
    replyTopics: REPLY_TOPICS,
    replyTopicOf: (serial) => `thing/product/${serial}/services_reply`,
    eventsTopic: EVENTS_TOPIC,
    requestsTopic: REQUESTS_TOPIC,
    presenceTopics: PRESENCE_TOPICS,
    deviceTopic,
    buildServicesEnvelope,
    parseDeviceReply,
    parseDeviceEvent,
    eventsReplyTopic,
    buildEventsReply,
    parseDeviceRequest,
    requestsReplyTopic,
    buildRequestsReply,
    presenceTopic,
    parseStatusMessage,
    statusReplyTopic,
    buildStatusReply,
    envelopeGateway,
    firmwareOfState,
  },
};
