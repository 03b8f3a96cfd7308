'use strict';
// The peer of `cargo xtask bench cluster`: the relay's presence and chat built on socket.io with
// its Redis adapter, as that stack's users build them. Presence lives in Redis keys with a TTL
// and a set of members per roster; a change is emitted to the roster's room (the adapter
// publishes it to every node, which writes it to its own sockets); a chat message takes its
// number from a Redis counter, is written to DynamoDB (the same local server the relay uses),
// acknowledged after the write and emitted to the recipient's room. Not done here, and done by
// the relay: token verification, rate limits, resends answered from the store, the grace period.
//
//   node bench/socketio/server.js PORT REDIS_URL DYNAMODB_ENDPOINT TABLE_PREFIX

const http = require('node:http');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');
const { DynamoDBClient, CreateTableCommand, PutItemCommand } = require('@aws-sdk/client-dynamodb');

const [port, redisUrl, dynamodbEndpoint, prefix = 'socketio-'] = process.argv.slice(2);
const table = `${prefix}messages`;
const PRESENCE_TTL_S = 120;

async function main() {
  const publisher = createClient({ url: redisUrl });
  const subscriber = publisher.duplicate();
  const data = publisher.duplicate();
  await Promise.all([publisher.connect(), subscriber.connect(), data.connect()]);
  const dynamodb = new DynamoDBClient({
    endpoint: dynamodbEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    await dynamodb.send(new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'conversation', AttributeType: 'S' },
        { AttributeName: 'seq', AttributeType: 'N' },
      ],
      KeySchema: [
        { AttributeName: 'conversation', KeyType: 'HASH' },
        { AttributeName: 'seq', KeyType: 'RANGE' },
      ],
    }));
  } catch (e) {
    if (e.name !== 'ResourceInUseException') throw e;
  }

  const server = http.createServer();
  const io = new Server(server, {
    adapter: createAdapter(publisher, subscriber),
    transports: ['websocket'],
    serveClient: false,
  });
  io.on('connection', (socket) => {
    const { p: principal, r: roster } = socket.handshake.query;
    socket.join(`user:${principal}`);

    socket.on('subscribe', async (_request, ack) => {
      socket.join(`roster:${roster}`);
      const members = await data.sMembers(`members:${roster}`);
      const values = members.length ? await data.mGet(members.map((m) => `presence:${m}`)) : [];
      ack(values.filter(Boolean).map((v) => JSON.parse(v)));
    });

    socket.on('set_presence', async (frame) => {
      const presence = { principal, roster, state: frame.state, since: frame.since, online: true };
      await data.multi()
        .set(`presence:${principal}`, JSON.stringify(presence), { EX: PRESENCE_TTL_S })
        .sAdd(`members:${roster}`, principal)
        .exec();
      io.to(`roster:${roster}`).emit('f', { type: 'presence', presence });
    });

    socket.on('send_chat', async (frame, ack) => {
      try {
        const conversation = [principal, frame.to].sort().join('|');
        const seq = await data.incr(`seq:${conversation}`);
        const message = {
          from: principal, to: frame.to, seq, client_id: frame.client_id, text: frame.text, sent_at: Date.now(),
        };
        await dynamodb.send(new PutItemCommand({
          TableName: table,
          Item: {
            conversation: { S: conversation },
            seq: { N: String(seq) },
            from: { S: message.from },
            to: { S: message.to },
            client_id: { S: message.client_id },
            text: { S: message.text },
            sent_at: { N: String(message.sent_at) },
          },
          ConditionExpression: 'attribute_not_exists(seq)',
        }));
        ack({ type: 'chat_ack', id: frame.id, client_id: frame.client_id, peer: frame.to, seq, sent_at: message.sent_at });
        socket.to(`user:${frame.to}`).emit('f', { type: 'chat', message });
      } catch (e) {
        ack({ type: 'error', id: frame.id, error: { code: 'unavailable', message: String(e), retryable: true } });
      }
    });
  });
  server.listen(Number(port), '127.0.0.1');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
