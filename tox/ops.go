package tox

// The operations errors name (Error.Op): the libtoxcore functions the
// binding calls, without their "tox_" prefix, and "do" and
// "set_callbacks", which are the binding's own. A Core method and the Tox
// method that runs it through Do name the same one.
const (
	opNew                       = "new"
	opOptionsNew                = "options_new"
	opPassEncrypt               = "pass_encrypt"
	opPassDecrypt               = "pass_decrypt"
	opAddTCPRelay               = "add_tcp_relay"
	opBootstrap                 = "bootstrap"
	opDo                        = "do"
	opFriendAdd                 = "friend_add"
	opFriendAddNorequest        = "friend_add_norequest"
	opFriendByPublicKey         = "friend_by_public_key"
	opFriendDelete              = "friend_delete"
	opFriendGetConnectionStatus = "friend_get_connection_status"
	opFriendGetName             = "friend_get_name"
	opFriendGetPublicKey        = "friend_get_public_key"
	opFriendGetStatusMessage    = "friend_get_status_message"
	opFriendSendLosslessPacket  = "friend_send_lossless_packet"
	opFriendSendMessage         = "friend_send_message"
	opGetSavedata               = "get_savedata"
	opIterationInterval         = "iteration_interval"
	opSelfGetConnectionStatus   = "self_get_connection_status"
	opSelfGetFriendList         = "self_get_friend_list"
	opSelfGetSecretKey          = "self_get_secret_key"
	opSelfGetTCPPort            = "self_get_tcp_port"
	opSelfGetUDPPort            = "self_get_udp_port"
	opSelfSetName               = "self_set_name"
	opSelfSetStatusMessage      = "self_set_status_message"
	opSetCallbacks              = "set_callbacks"
)
