// `@order-fsm/core/amqp`: status messages and automatic work over RabbitMQ (`amqp-connection-manager`, `amqplib`).
export { AmqpMessaging, amqpTopology, type AmqpMessagingOptions, type AmqpTopology } from './amqp-messaging.js';
