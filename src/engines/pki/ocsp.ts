import { createHash } from 'node:crypto';
import * as ocsp from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import type { HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { formatSerial, signDetached } from './keys.js';
import type { PkiStore, StoredIssuer } from './store.js';

const OCSP_RESPONSE = 'application/ocsp-response';
/** How long a client may cache a response (Vault's default `ocsp_expiry` is 12h). */
const NEXT_UPDATE_SECONDS = 12 * 3600;

/** Hash algorithms a CertID may use, by OID, as node:crypto names them. */
const CERT_ID_HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/**
 * Builds the OCSP responder (RFC 6960): `ocsp/BASE64` for GET and `ocsp` for POST with a DER
 * body. It returns good for a stored certificate, revoked with the revocation time, and unknown
 * for a serial the mount does not store.
 */
export function ocspPaths(store: PkiStore): PathSpec[] {
  return [
    {
      pattern: 'ocsp/(?<request>.+)',
      operations: {
        read: (ctx) => {
          // Base64url decodes too, which avoids "/" and "+" in the path.
          const der = Buffer.from(decodeURIComponent(ctx.params.request!), 'base64');
          return answerOcsp(store, der);
        },
      },
      help: 'Returns the OCSP response to a request sent base64-encoded in the path.',
    },
    {
      pattern: 'ocsp',
      operations: {
        update: (ctx: HandlerContext) => answerOcsp(store, ctx.req.rawBody ?? Buffer.alloc(0)),
      },
      help: 'Returns the OCSP response to a DER request body (Content-Type application/ocsp-request).',
    },
  ];
}

function failure(status: ocsp.OCSPResponseStatus, httpStatus: number): LogicalResponse {
  const body = Buffer.from(AsnConvert.serialize(new ocsp.OCSPResponse({ responseStatus: status })));
  return { rawBytes: { status: httpStatus, contentType: OCSP_RESPONSE, body } };
}

/** Parses an OCSP request and returns the signed response, or an unsigned error status. */
export async function answerOcsp(store: PkiStore, der: Buffer): Promise<LogicalResponse> {
  if ((await store.crlConfig()).ocsp_disable) return failure(ocsp.OCSPResponseStatus.unauthorized, 401);

  let request: ocsp.OCSPRequest;
  try {
    request = AsnConvert.parse(der, ocsp.OCSPRequest);
  } catch {
    return failure(ocsp.OCSPResponseStatus.malformedRequest, 400);
  }
  // Like Vault, one certificate per request.
  const single = request.tbsRequest.requestList.length === 1 ? request.tbsRequest.requestList[0]! : null;
  if (!single) return failure(ocsp.OCSPResponseStatus.malformedRequest, 400);

  const certId = single.reqCert;
  const issuer = await findIssuer(store, certId);
  if (!issuer) return failure(ocsp.OCSPResponseStatus.unauthorized, 401);
  const key = issuer.keyId && issuer.usage.includes('ocsp-signing') ? await store.getKey(issuer.keyId) : null;
  if (!key) return failure(ocsp.OCSPResponseStatus.unauthorized, 401);

  const serial = formatSerial(Buffer.from(certId.serialNumber).toString('hex').replace(/^(00)+(?=..)/, ''));
  const stored = await store.getCert(serial);
  const certStatus =
    !stored || stored.issuerId !== issuer.id
      ? new ocsp.CertStatus({ unknown: null })
      : stored.revocationTime !== undefined
        ? new ocsp.CertStatus({ revoked: new ocsp.RevokedInfo({ revocationTime: new Date(stored.revocationTime * 1000) }) })
        : new ocsp.CertStatus({ good: null });

  const issuerCert = AsnConvert.parse(Buffer.from(pemBody(issuer.certificate), 'base64'), asn1X509.Certificate);
  const now = new Date();
  const nonce = request.tbsRequest.requestExtensions?.find((extension) => extension.extnID === ocsp.id_pkix_ocsp_nonce);
  const responseData = new ocsp.ResponseData({
    responderID: new ocsp.ResponderID({
      byKey: new OctetString(createHash('sha1').update(Buffer.from(issuerCert.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey)).digest()),
    }),
    producedAt: now,
    responses: [
      new ocsp.SingleResponse({ certID: certId, certStatus, thisUpdate: now, nextUpdate: new Date(now.getTime() + NEXT_UPDATE_SECONDS * 1000) }),
    ],
    responseExtensions: nonce ? [nonce] : undefined,
  });

  const tbs = Buffer.from(AsnConvert.serialize(responseData));
  const { signature, identifier } = signDetached(key, tbs);
  const basic = new ocsp.BasicOCSPResponse({
    tbsResponseData: responseData,
    signatureAlgorithm: identifier,
    signature: new Uint8Array(signature).buffer,
    certs: [issuerCert],
  });
  const response = new ocsp.OCSPResponse({
    responseStatus: ocsp.OCSPResponseStatus.successful,
    responseBytes: new ocsp.ResponseBytes({ responseType: ocsp.id_pkix_ocsp_basic, response: new OctetString(AsnConvert.serialize(basic)) }),
  });
  return { rawBytes: { status: 200, contentType: OCSP_RESPONSE, body: Buffer.from(AsnConvert.serialize(response)) } };
}

/** Finds the issuer whose name hash and key hash match the request's CertID. */
async function findIssuer(store: PkiStore, certId: ocsp.CertID): Promise<StoredIssuer | null> {
  const hash = CERT_ID_HASHES[certId.hashAlgorithm.algorithm];
  if (!hash) return null;
  const nameHash = Buffer.from(certId.issuerNameHash.buffer);
  const keyHash = Buffer.from(certId.issuerKeyHash.buffer);
  for (const issuer of await store.listIssuers()) {
    const cert = AsnConvert.parse(Buffer.from(pemBody(issuer.certificate), 'base64'), asn1X509.Certificate);
    const subject = Buffer.from(AsnConvert.serialize(cert.tbsCertificate.subject));
    const publicKey = Buffer.from(cert.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey);
    const digest = (data: Buffer) => createHash(hash).update(data).digest();
    if (digest(subject).equals(nameHash) && digest(publicKey).equals(keyHash)) return issuer;
  }
  return null;
}

function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, '').replace(/\s+/g, '');
}
