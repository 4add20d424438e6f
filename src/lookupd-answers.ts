// nsqlookupd's answers (/lookup, /nodes): types shared by the service, the bridge's lookupd and
// the admin UI.

/** How nsqlookupd describes an nsqd (its PeerInfo). */
export interface PeerInfo {
  remote_address: string;
  hostname: string;
  broadcast_address: string;
  tcp_port: number;
  http_port: number;
  version: string;
  topology_zone: string;
  topology_region: string;
}

/** /nodes lists each producer with its topics. */
export interface NodeInfo extends PeerInfo {
  topics: string[];
  tombstones: boolean[];
}

export interface Lookup {
  channels: string[];
  producers: PeerInfo[];
}

export interface Nodes {
  producers: NodeInfo[];
}
