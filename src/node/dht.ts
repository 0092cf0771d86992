import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { DHT_PROTOCOL, DHT_PROVIDE_VALIDITY_S, DHT_REPROVIDE_CHECK_MS, DHT_REPROVIDE_THRESHOLD_MS } from '../constants.js'

/**
 * mesh's DHT: its own protocol id (a private DHT, apart from the public
 * one), server mode unless asked otherwise (libp2p's default, client mode
 * until a public address is seen, would make a LAN's DHT empty), every
 * address kept (the default mapper drops private ones, which are all a LAN
 * or a test namespace has), and provider records that live minutes, not days.
 */
export function meshDht (mode: 'server' | 'client' = 'server'): ReturnType<typeof kadDHT> {
  return kadDHT({
    protocol: DHT_PROTOCOL,
    clientMode: mode === 'client',
    peerInfoMapper: passthroughMapper,
    providers: { provideValidity: DHT_PROVIDE_VALIDITY_S, cleanupInterval: DHT_PROVIDE_VALIDITY_S / 10 },
    reprovide: { validity: DHT_PROVIDE_VALIDITY_S * 1000, threshold: DHT_REPROVIDE_THRESHOLD_MS, interval: DHT_REPROVIDE_CHECK_MS }
  })
}
